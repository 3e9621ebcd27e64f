"""Runs ``chainrule.bench.training`` (see its docstring); ``chainrule bench`` runs them all."""

from chainrule.bench.training import main

if __name__ == "__main__":
    main()
