"""Entry point for ``chainrule.bench.engine`` (see its docstring); ``chainrule bench`` runs all."""

from chainrule.bench.engine import main

if __name__ == "__main__":
    main()
