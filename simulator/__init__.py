"""otpsim: a high-fidelity simulator of Huawei Cloud and Alibaba Cloud verification-code APIs."""

__version__ = "0.1.0"
