"""Languages, translations and the way dates and money are written, for pages and messages alike."""
