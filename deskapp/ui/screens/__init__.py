"""Screens and modals of the desk."""
