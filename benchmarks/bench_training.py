"""Entry point for ``chainrule.bench.training`` (see its docstring); ``chainrule bench`` runs all."""

from chainrule.bench.training import main

if __name__ == "__main__":
    main()
