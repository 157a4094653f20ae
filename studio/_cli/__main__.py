from studio._cli import main

main()
