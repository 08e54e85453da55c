"""Publishing: what the public sees (feeds, CAP, banner, pages' documents) and the static export."""
