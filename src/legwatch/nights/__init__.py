"""nights"""
