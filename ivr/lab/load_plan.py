"""The load runs' shop: a menu whose key 1 leads to a staffed queue (`desk`) and, with
`orders`, key 2 to a queue whose agents are away. One text for the soak, the ARI traffic
count and the AMI bench, so they measure the same calls."""

from __future__ import annotations


def menu_queue_plan(
    name: str, number: str, comment: str, wrapup: float = 0, orders: bool = True
) -> str:
    """The plan's YAML: menu -> 1 -> tag sales -> queue desk (longest-idle, 10 s ring)."""
    desk = (
        "  desk:\n    skills: {sales: 1}\n    strategy: longest-idle\n    ring_timeout: 10\n"
        f"    wrapup: {wrapup}\n"
    )
    options = '{"1": sales, "2": orders}' if orders else '{"1": sales}'
    text = (
        f'# {comment}\nname: {name}\nnumbers: ["{number}"]\nlanguage: en\nqueues:\n{desk}'
        + ("  orders:\n    skills: {orders: 1}\n    announce_every: 2\n" if orders else "")
        + "nodes:\n  start:\n    type: menu\n    prompt: sound:hello\n"
        f"    options: {options}\n    timeout: 5\n    retries: 2\n"
        "    no_input: sound:please-try-again\n"
        "  sales: {type: tag, tag: sales, next: sales_queue}\n"
        "  sales_queue: {type: queue, queue: desk}\n"
    )
    if orders:
        text += (
            "  orders: {type: tag, tag: orders, next: orders_queue}\n"
            "  orders_queue: {type: queue, queue: orders}\n"
        )
    return text
