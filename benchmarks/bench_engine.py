"""Runs ``chainrule.bench.engine`` (see its docstring); ``chainrule bench`` runs them all."""

from chainrule.bench.engine import main

if __name__ == "__main__":
    main()
