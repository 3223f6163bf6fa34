"""`python -m kb`: the same as the `trialkb` command."""

from kb.cli import main

main()
