from llmops_tui.cli import main

raise SystemExit(main())
