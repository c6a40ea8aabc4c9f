from hubcli.cli.app import main

main()
