from groupwise._entry import main

main()
