"""Turn long videos into short, captioned, vertical clips ranked by how likely they are to perform"""

__version__ = "0.1.0"
