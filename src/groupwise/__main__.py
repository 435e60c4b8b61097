from groupwise.cli import main

main()
