"""The published complaint channels of every unit (2014 notice item 4). Placeholder."""


def index() -> str:
    raise NotImplementedError


def unit(code: str) -> str:
    raise NotImplementedError
