"""Checks beyond the schema: targets exist, names are defined, loops have a way out.

`plan.check_plan` runs them on one plan; `book.check_book` looks at what plans share.
"""
