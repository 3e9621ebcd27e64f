"""Runs ``chainrule.bench.estimators`` (see its docstring); ``chainrule bench`` runs them all."""

from chainrule.bench.estimators import main

if __name__ == "__main__":
    main()
