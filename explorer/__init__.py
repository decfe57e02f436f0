"""ConvNet Explorer core: architectures, exact analysis, and the tools the pages stand on.

Nothing in this package imports streamlit except ``explorer.ui``.
"""
