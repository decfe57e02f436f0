"""Errors the core raises for user input, each worded as one sentence a learner understands.

The UI catches :class:`ExplorerError` and shows it as plain text (explorer/ui/messages.py); the CLI prints it
and exits 2.
Anything else escaping the core is a bug.
"""


class ExplorerError(Exception):
    """A problem with what the user asked for, worded for the user."""


class UnknownArchitectureError(ExplorerError, KeyError):
    """The requested architecture name is not in the registry."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class InvalidOptionError(ExplorerError, ValueError):
    """An architecture option is unknown, of the wrong type or out of bounds."""


class InputShapeError(ExplorerError, ValueError):
    """The input shape is malformed, or the network cannot take an input of that shape."""


class InputTooSmallError(InputShapeError):
    """The input is so small that some layer would produce an empty output."""


class WeightsError(ExplorerError):
    """Weights could not be used; the message says why."""


class WeightsUnavailableError(WeightsError):
    """Pretrained weights are neither cached nor downloadable (for instance, no internet)."""


class StateDictMismatchError(WeightsError):
    """A state_dict does not fit the model: missing, unexpected or mis-shaped keys."""


class AugmentError(ExplorerError):
    """A pipeline that cannot be built: unknown operation, bad parameter, unreadable JSON."""


class CostInputError(ExplorerError):
    """Sizes that give no valid convolution (zero, negative, empty output, indivisible groups)."""


class DeviceUnavailableError(ExplorerError):
    """The requested device does not exist on this machine."""


class ImageLoadError(ExplorerError):
    """The bytes are not an image we can read; the message says why in one sentence."""


class CaptureError(ExplorerError):
    """A capture request cannot be served (unknown point, not reached by the forward pass)."""


class BudgetError(ExplorerError):
    """A computation would need more memory or time than this server allows, or the server is busy."""


class CompareError(ExplorerError):
    """A comparison that cannot be made: too few or too many networks, a --set that names none of them."""


class ScalingError(ExplorerError):
    """A compound-scaling request outside what can be built (a multiplier too large, no single-dimension match)."""


class TransferError(ExplorerError):
    """A transfer-learning request that cannot be served: no head to replace, a stage out of range, too few images."""


class DatasetError(ExplorerError):
    """An uploaded dataset that cannot be used: not a zip, over a limit, no class folder with images."""
