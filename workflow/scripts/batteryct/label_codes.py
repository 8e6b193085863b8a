"""Label codes of batteryct segmentations, shared by every stage that reads labels.

``0`` open pore (connected to the outside of the sample), ``1`` solid (active material),
``2`` internal closed void (pore space enclosed by solid), ``3`` carbon-binder domain.
"""

LABEL_OPEN_PORE = 0
LABEL_SOLID = 1
LABEL_INTERNAL_VOID = 2
LABEL_BINDER = 3
