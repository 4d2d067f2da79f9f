"""shop-ivr: a telephony engine for online shops' customer lines."""

__version__ = "0.1.0"
