"""`python cli.py ...` is the same as the installed `ajanda` command."""

from core.cli.main import main

if __name__ == "__main__":
    main()
