"""``python -m studio``: the same command line as the ``studio`` script."""

from studio._cli import main

if __name__ == "__main__":
    main(prog_name="studio")
