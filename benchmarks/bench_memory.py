"""Runs ``chainrule.bench.memory`` (see its docstring); ``chainrule bench`` runs them all."""

from chainrule.bench.memory import main

if __name__ == "__main__":
    main()
