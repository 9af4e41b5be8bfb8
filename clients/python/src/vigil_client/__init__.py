"""A client for Vigil: log what a served model sees and predicts, read what Vigil decided.

>>> from vigil_client import Vigil
>>> vigil = Vigil("http://127.0.0.1:8080", token="vgl_…")
>>> vigil.log_predictions("churn", [{"request_id": "r1", "tenure": 12, "prediction": "1", "score": 0.83}])
>>> vigil.routing("churn")["champion_version"]
"""

from ._client import Vigil
from ._delivery import DeliveryStats
from ._errors import VigilError

__all__ = ["Vigil", "VigilError", "DeliveryStats"]
__version__ = "0.1.0"
