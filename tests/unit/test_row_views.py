"""Card views kept by the row they were rendered from: a row read again unchanged is not rendered again, a
changed row always is, and what a caller adds to its copy never reaches the next caller."""

from enkash_sandbox.products.records import RowViews


def counting_views(size: int = 256) -> tuple[RowViews, list[tuple]]:
    rendered: list[tuple] = []

    def render(row: tuple) -> dict:
        rendered.append(row)
        return {"id": row[0], "balance": row[1], "status": {"name": row[2]}}

    return RowViews(render, size), rendered


def test_an_unchanged_row_is_rendered_once_and_a_changed_one_again():
    views, rendered = counting_views()
    assert views.view(("EKC1", 100, "ACTIVE")) == {"id": "EKC1", "balance": 100, "status": {"name": "ACTIVE"}}
    views.view(("EKC1", 100, "ACTIVE"))
    assert len(rendered) == 1
    assert views.view(("EKC1", 150, "ACTIVE"))["balance"] == 150
    assert len(rendered) == 2


def test_each_caller_gets_its_own_copy_to_add_to():
    views, _ = counting_views()
    first = views.view(("EKC1", 100, "ACTIVE"))
    first["usedDtd"] = 5
    first["balance"] = -1
    assert views.view(("EKC1", 100, "ACTIVE")) == {"id": "EKC1", "balance": 100, "status": {"name": "ACTIVE"}}


def test_the_oldest_view_goes_when_the_bound_is_reached():
    views, rendered = counting_views(size=3)
    for n in range(10):
        views.view(("EKC", n, "ACTIVE"))
    assert len(views._views) == 3
    views.view(("EKC", 9, "ACTIVE"))
    assert len(rendered) == 10
    views.view(("EKC", 0, "ACTIVE"))
    assert len(rendered) == 11


def test_a_row_with_a_parsed_json_value_is_rendered_every_time():
    views, rendered = counting_views()
    row = ("EKC1", 100, "ACTIVE", {"posAllowed": True})
    views.view(row)
    views.view(row)
    assert len(rendered) == 2
    assert views._views == {}
