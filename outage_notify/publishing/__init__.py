"""Publishing: what the public sees (feeds, CAP, banner, the pages' HTML) and the static export."""
