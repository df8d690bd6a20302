"""Vertical product slices: each with its schemas, service, views and router. Products never import http, control or ops."""
