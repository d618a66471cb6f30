from ztown.cli import main

raise SystemExit(main())
