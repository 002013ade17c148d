"""digest: fetch arXiv papers, parse them, index them, fill survey sheets and answer questions with citations."""

__version__ = "0.1.0"
