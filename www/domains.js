// What the page must know of the engine's built-in domains, in one place: the names it sends
// commands to and reads projections from. Everything else (event types, the stream type of an
// event, the statuses orders are in, the status an order reached) is read from the engine.

/** Bank accounts: their stream type and the projection that lists them. */
export const ACCOUNTS = { streamType: 'BankAccount', projection: 'account_balance' };

/** Orders: their stream type and the projection that lists them. */
export const ORDERS = { streamType: 'Order', projection: 'order_status' };

// The statuses an order can be in, in lifecycle order: the shop's filter tabs. The engine
// reports the statuses orders are in (the order_status projection's records), but not the ones
// no order has reached yet, and a visitor must find a "placed" tab before any order exists:
// that is why the page knows this list. A status the records show that is not listed here
// still gets its tab (shop.js).
export const ORDER_LIFECYCLE = ['placed', 'confirmed', 'shipped', 'delivered', 'cancelled'];
