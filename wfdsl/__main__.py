from wfdsl.cli import main

main()
