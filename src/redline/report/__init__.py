"""What people read about a run: the HTML report, the system card, diffs between runs."""
