"""Plain-Python helpers for Zhipei: identity numbers, phones, masking, crypto and SMS.

Nothing here imports Django, so these modules stay usable from scripts and fast tests.
"""
