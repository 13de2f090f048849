"""Development evaluation of report labels against gold that nobody here wrote (see harness.py)."""
