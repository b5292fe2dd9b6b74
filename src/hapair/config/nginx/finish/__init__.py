"""What nginx does once a block is read: merging each level with its parent, the checks it makes then,
and the model built from the result."""
