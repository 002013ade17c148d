"""Test doubles at the network edge: a loopback arXiv (`arxiv_server`)."""
