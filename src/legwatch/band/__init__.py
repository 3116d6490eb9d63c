"""band"""
