from highlighter.cli import main

raise SystemExit(main())
