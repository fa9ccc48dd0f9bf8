"""Exports and statistics pages (issue: batch exports and activity statistics)."""

from flask import Blueprint

bp = Blueprint("reports", __name__)
