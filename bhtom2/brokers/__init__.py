"""The survey brokers of this package: ``TOM_ALERT_CLASSES = [..., *bhtom2.brokers.ALL]``."""

ALL: list[str] = [
    "bhtom2.brokers.gaia_alerts.GaiaAlertsBroker",
    "bhtom2.brokers.gaia_dr3.GaiaDR3Broker",
    "bhtom2.brokers.gaia_dr2.GaiaDR2Broker",
    "bhtom2.brokers.ogle_ews.OGLEEWSBroker",
    "bhtom2.brokers.kmtnet.KMTNetBroker",
    "bhtom2.brokers.crts.CRTSBroker",
    "bhtom2.brokers.ztf_dr.ZTFDataReleaseBroker",
    "bhtom2.brokers.ztf_alerce.ZTFAlerceBroker",
    "bhtom2.brokers.antares.AntaresBroker",
    "bhtom2.brokers.atlas.AtlasBroker",
    "bhtom2.brokers.tns.TNSBroker",
    "bhtom2.brokers.neowise.NeowiseBroker",
    "bhtom2.brokers.allwise.AllwiseBroker",
    "bhtom2.brokers.aavso.AAVSOBroker",
    "bhtom2.brokers.cpcs.CPCSBroker",
    "bhtom2.brokers.asassn.ASASSNBroker",
]
