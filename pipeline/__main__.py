import sys

from .signals import StopFlag

StopFlag.install()   # before the heavier imports: an early Ctrl-C is a clean stop, not a traceback

from .cli import main  # noqa: E402

sys.exit(main())
