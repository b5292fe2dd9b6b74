from hapair.cli.main import main

raise SystemExit(main())
