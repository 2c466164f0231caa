"""Jinja templates, shipped in the wheel as the package ``xueji_templates``."""
