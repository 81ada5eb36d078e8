from calmops.cli import main

raise SystemExit(main())
