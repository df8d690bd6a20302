"""Vertical product slices: each with its schemas, service and router (views where responses need shaping).
Products never import http, control or ops."""
