/**
 * ml-platform components: everything a Pulumi program needs to run TensorFlow-Serving-based machine
 * learning on EKS. Each component is a thin shell over exported pure spec builders.
 */
export * from "./common/validation";
export * from "./common/kubernetes";
export * from "./storage/model-store-backend";
export * from "./storage/s3-policies";
export * from "./storage/model-store";
export * from "./storage/version-publishing";
export * from "./compute/gpu-instances";
export * from "./compute/nvidia-device-plugin";
export * from "./compute/gpu-node-pool";
export * from "./storage/in-cluster/seaweedfs-identities";
export * from "./storage/in-cluster/in-cluster-store-specs";
export * from "./storage/in-cluster/in-cluster-model-store";
export * from "./serving";
export * from "./training";
