from enkash_sandbox.cli import main

main()
