"""Runs ``chainrule.bench.main_job`` (see its docstring); ``chainrule bench`` runs them all."""

from chainrule.bench.main_job import main

if __name__ == "__main__":
    main()
