"""Huifang: closed-loop complaint recovery for brands and their dealer networks."""
