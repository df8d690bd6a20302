"""The redemption marketplace: voucher catalog, carts, orders, vouchers."""
